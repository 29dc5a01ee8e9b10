# (TZ is set so that R does not call timedatectl)
# Reference values for tests/compare/test_compare_asah.py (samd compare on pROC's aSAH data).
# Tools: R with pROC 1.18 (Debian r-cran-proc); mcnemar.test from R's stats package.
# Usage: Rscript asah_compare_reference.R OUTDIR
#   writes OUTDIR/manifest.csv, OUTDIR/reference.csv (s100b), OUTDIR/candidate.csv (wfns),
#   and OUTDIR/reference.json: roc.test(paired = TRUE, method = "delong") of wfns vs s100b
#   (difference candidate - reference, its 95% CI, Z and two-sided p-value), both AUCs, and
#   McNemar's test (continuity-corrected) of the paired sensitivity and specificity tables at
#   wfns >= 2.5 and s100b >= 0.205; per gender, the paired DeLong difference and its CI.
suppressMessages(library(pROC))
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]
data(aSAH)
ids <- sprintf("C%03d", seq_len(nrow(aSAH)))
write.csv(data.frame(case_id = ids, outcome = as.character(aSAH$outcome),
                     gender = as.character(aSAH$gender)),
          file.path(out, "manifest.csv"), row.names = FALSE, quote = FALSE)
write.csv(data.frame(case_id = ids, s100b = sprintf("%.17g", aSAH$s100b)),
          file.path(out, "reference.csv"), row.names = FALSE, quote = FALSE)
write.csv(data.frame(case_id = ids, wfns = as.integer(aSAH$wfns)),
          file.path(out, "candidate.csv"), row.names = FALSE, quote = FALSE)
mk <- function(s) roc(aSAH$outcome, s, levels = c("Good", "Poor"), direction = "<", quiet = TRUE)
rc <- mk(as.integer(aSAH$wfns))
rr <- mk(aSAH$s100b)
t <- roc.test(rc, rr, method = "delong", paired = TRUE, conf.level = 0.95)
pos <- aSAH$outcome == "Poor"
cand <- as.integer(aSAH$wfns) >= 2.5
ref <- aSAH$s100b >= 0.205
# rows: candidate correct (TRUE/FALSE), columns: reference correct (TRUE/FALSE)
tab <- function(a, b) table(factor(a, levels = c(TRUE, FALSE)), factor(b, levels = c(TRUE, FALSE)))
sens <- tab(cand[pos], ref[pos])
spec <- tab(!cand[!pos], !ref[!pos])
m_se <- mcnemar.test(sens, correct = TRUE)
m_sp <- mcnemar.test(spec, correct = TRUE)
# per gender: the paired DeLong difference (subgroup estimates; interaction test = Cochran Q)
sub <- lapply(c("Female", "Male"), function(lv) {
  k <- aSAH$gender == lv
  a <- roc(aSAH$outcome[k], as.integer(aSAH$wfns)[k], levels = c("Good", "Poor"), direction = "<", quiet = TRUE)
  b <- roc(aSAH$outcome[k], aSAH$s100b[k], levels = c("Good", "Poor"), direction = "<", quiet = TRUE)
  tt <- roc.test(a, b, method = "delong", paired = TRUE, conf.level = 0.95)
  c(as.numeric(auc(a)) - as.numeric(auc(b)), tt$conf.int[1], tt$conf.int[2])
})
fmt <- function(x) sprintf("%.17g", x)
cells <- function(m) sprintf("[[%d, %d], [%d, %d]]", m[1, 1], m[1, 2], m[2, 1], m[2, 2])
lines <- c(
  "{",
  sprintf('  "tool": "R %s, pROC %s",', paste(R.version$major, R.version$minor, sep = "."),
          as.character(packageVersion("pROC"))),
  sprintf('  "auc_candidate": %s,', fmt(as.numeric(auc(rc)))),
  sprintf('  "auc_reference": %s,', fmt(as.numeric(auc(rr)))),
  sprintf('  "delong_z": %s,', fmt(unname(t$statistic))),
  sprintf('  "delong_p": %s,', fmt(t$p.value)),
  sprintf('  "delong_ci": [%s, %s],', fmt(t$conf.int[1]), fmt(t$conf.int[2])),
  sprintf('  "sens_table": %s,', cells(sens)),
  sprintf('  "spec_table": %s,', cells(spec)),
  sprintf('  "mcnemar_sens": [%s, %s],', fmt(unname(m_se$statistic)), fmt(m_se$p.value)),
  sprintf('  "mcnemar_spec": [%s, %s],', fmt(unname(m_sp$statistic)), fmt(m_sp$p.value)),
  sprintf('  "sub_auc_diff_female": [%s],', paste(fmt(sub[[1]]), collapse = ", ")),
  sprintf('  "sub_auc_diff_male": [%s]', paste(fmt(sub[[2]]), collapse = ", ")),
  "}")
writeLines(lines, file.path(out, "reference.json"))
