# (TZ is set so that R does not call timedatectl)
# Reference values for tests/harness/test_harness_validate_asah.py
# Tools: R with pROC 1.18 (Debian r-cran-proc) and epiR (Debian r-cran-epir).
# Usage: Rscript asah_reference.R OUTDIR
#   writes OUTDIR/manifest.csv, OUTDIR/predictions.csv (pROC's aSAH data, case ids pseudonymous)
#   and OUTDIR/reference.json (AUC with DeLong CI, sens/spec/PPV/NPV with exact CIs at s100b >= 0.205).
suppressMessages({library(pROC); library(epiR)})
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]
data(aSAH)
ids <- sprintf("C%03d", seq_len(nrow(aSAH)))
write.csv(data.frame(case_id = ids, outcome = as.character(aSAH$outcome),
                     gender = as.character(aSAH$gender), age = aSAH$age,
                     wfns = as.integer(aSAH$wfns)),
          file.path(out, "manifest.csv"), row.names = FALSE, quote = FALSE)
write.csv(data.frame(case_id = ids, s100b = sprintf("%.17g", aSAH$s100b)),
          file.path(out, "predictions.csv"), row.names = FALSE, quote = FALSE)
r <- roc(aSAH$outcome, aSAH$s100b, levels = c("Good", "Poor"), direction = "<", quiet = TRUE)
ci <- ci.auc(r, method = "delong", conf.level = 0.95)
thr <- 0.205
pos <- aSAH$outcome == "Poor"
test <- aSAH$s100b >= thr
tp <- sum(test & pos); fp <- sum(test & !pos); fn <- sum(!test & pos); tn <- sum(!test & !pos)
tab <- as.table(matrix(c(tp, fp, fn, tn), nrow = 2, byrow = TRUE))
et <- epi.tests(tab, method = "exact", conf.level = 0.95)
d <- et$detail
g <- function(stat) d[d$statistic == stat, c("est", "lower", "upper")]
# AUC per gender with DeLong variance, for the interaction test (Cochran Q)
sub <- lapply(c("Female", "Male"), function(lv) {
  k <- aSAH$gender == lv
  rr <- roc(aSAH$outcome[k], aSAH$s100b[k], levels = c("Good", "Poor"), direction = "<", quiet = TRUE)
  c(auc = as.numeric(auc(rr)), var = var(rr, method = "delong"))
})
fmt <- function(x) sprintf("%.17g", x)
lines <- c(
  "{",
  sprintf('  "tool": "R %s, pROC %s, epiR %s",', paste(R.version$major, R.version$minor, sep = "."),
          as.character(packageVersion("pROC")), as.character(packageVersion("epiR"))),
  sprintf('  "auc": [%s, %s, %s],', fmt(ci[2]), fmt(ci[1]), fmt(ci[3])),
  sprintf('  "counts": {"tp": %d, "fp": %d, "fn": %d, "tn": %d},', tp, fp, fn, tn),
  sprintf('  "se": [%s],', paste(fmt(unlist(g("se"))), collapse = ", ")),
  sprintf('  "sp": [%s],', paste(fmt(unlist(g("sp"))), collapse = ", ")),
  sprintf('  "ppv": [%s],', paste(fmt(unlist(g("pv.pos"))), collapse = ", ")),
  sprintf('  "npv": [%s],', paste(fmt(unlist(g("pv.neg"))), collapse = ", ")),
  sprintf('  "auc_female": [%s, %s],', fmt(sub[[1]][1]), fmt(sub[[1]][2])),
  sprintf('  "auc_male": [%s, %s]', fmt(sub[[2]][1]), fmt(sub[[2]][2])),
  "}")
writeLines(lines, file.path(out, "reference.json"))
