# Reference values for tests/stats (samd validation.stats).
# Produced with: R 4.2.2, pROC 1.18.0, epiR 2.0.57, jsonlite 1.8.4 (Debian packages).
# Run from the repository root:
#   Rscript tests/reference/stats/make_reference_stats.R [OUT_DIR]
# Writes OUT_DIR/aSAH.csv and OUT_DIR/r_reference_stats.json (OUT_DIR defaults to
# tests/reference/stats; the test suite regenerates into a temporary folder and compares).
suppressMessages({
  library(pROC)
  library(epiR)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
out_dir <- if (length(args) >= 1) args[1] else "tests/reference/stats"
stopifnot(as.character(packageVersion("pROC")) == "1.18.0")

# ---- public dataset: pROC's aSAH (Turck et al. 2010), 113 patients -------------------
data(aSAH)
asah <- data.frame(
  outcome = as.integer(aSAH$outcome == "Poor"),
  s100b = aSAH$s100b,
  ndka = aSAH$ndka,
  wfns = as.integer(aSAH$wfns),
  age = aSAH$age,
  gender_female = as.integer(aSAH$gender == "Female")
)
write.csv(asah, file.path(out_dir, "aSAH.csv"), row.names = FALSE)

# ---- synthetic sets with heavy ties (stored with the results) ---------------------------
set.seed(20261129)
synth <- list()
for (i in 1:6) {
  n <- c(30, 57, 120, 200, 15, 400)[i]
  y <- rbinom(n, 1, c(0.3, 0.5, 0.2, 0.4, 0.5, 0.1)[i])
  y[1] <- 1; y[2] <- 0; y[3] <- 1; y[4] <- 0
  a <- round(rnorm(n) + 0.8 * y, c(1, 0, 2, 1, 0, 3)[i])
  b <- round(0.5 * a + rnorm(n) + 0.5 * y, 1)
  synth[[i]] <- list(y = y, a = a, b = b)
}

mkroc <- function(y, s) roc(y, s, levels = c(0, 1), direction = "<", quiet = TRUE)

roc_case <- function(name, y, a, b) {
  ra <- mkroc(y, a); rb <- mkroc(y, b)
  res <- list(name = name, y = y, a = a, b = b)
  res$auc_a <- as.numeric(auc(ra))
  res$auc_b <- as.numeric(auc(rb))
  for (cl in c(0.95, 0.9)) {
    ci <- as.numeric(ci.auc(ra, conf.level = cl, method = "delong"))
    res[[paste0("ci_delong_a_", cl * 100)]] <- ci[c(1, 3)]
  }
  for (alt in c("two.sided", "less", "greater")) {
    t <- roc.test(ra, rb, method = "delong", paired = TRUE, alternative = alt, conf.level = 0.95)
    res[[paste0("paired_", alt)]] <- list(z = unname(t$statistic), p = t$p.value,
                                         ci = as.numeric(t$conf.int))
  }
  sp_targets <- c(0.5, 0.8, 0.9, 0.95)
  se_targets <- c(0.5, 0.8, 0.9, 0.95)
  res$sp_targets <- sp_targets
  res$se_at_sp <- sapply(sp_targets, function(s) as.numeric(coords(ra, x = s, input = "specificity", ret = "sensitivity")))
  res$se_targets <- se_targets
  res$sp_at_se <- sapply(se_targets, function(s) as.numeric(coords(ra, x = s, input = "sensitivity", ret = "specificity")))
  pa <- list()
  for (rng in list(c(1, 0.8), c(0.9, 0.6), c(0.75, 0.55))) {
    for (focus in c("specificity", "sensitivity")) {
      for (corr in c(FALSE, TRUE)) {
        v <- suppressWarnings(as.numeric(auc(ra, partial.auc = rng, partial.auc.focus = focus,
                                              partial.auc.correct = corr)))
        pa[[length(pa) + 1]] <- list(bounds = rng, focus = focus, correct = corr,
                                     value = if (is.na(v)) "nan" else v)
      }
    }
  }
  res$partial <- pa
  res
}

roc_cases <- list(roc_case("aSAH_s100b_vs_ndka", asah$outcome, asah$s100b, asah$ndka),
                  roc_case("aSAH_wfns_vs_s100b", asah$outcome, asah$wfns, asah$s100b))
for (i in seq_along(synth)) {
  roc_cases[[length(roc_cases) + 1]] <- roc_case(paste0("synthetic_", i), synth[[i]]$y, synth[[i]]$a, synth[[i]]$b)
}

# ---- unpaired DeLong (different patients) -------------------------------------------
unpaired_case <- function(name, y1, s1, y2, s2) {
  r1 <- mkroc(y1, s1); r2 <- mkroc(y2, s2)
  res <- list(name = name, y1 = y1, s1 = s1, y2 = y2, s2 = s2)
  for (alt in c("two.sided", "less", "greater")) {
    t <- roc.test(r1, r2, method = "delong", paired = FALSE, alternative = alt)
    res[[alt]] <- list(d = unname(t$statistic), df = unname(t$parameter), p = t$p.value)
  }
  res
}
f <- asah$gender_female == 1
unpaired <- list(
  unpaired_case("aSAH_s100b_female_vs_male", asah$outcome[f], asah$s100b[f], asah$outcome[!f], asah$s100b[!f]),
  unpaired_case("synthetic_3_vs_4", synth[[3]]$y, synth[[3]]$a, synth[[4]]$y, synth[[4]]$b)
)

# ---- epiR epi.tests ---------------------------------------------------------------
tables <- list(c(670, 202, 74, 640), c(25, 4, 3, 60), c(12, 30, 8, 150), c(5, 1, 2, 9))  # tp, fp, fn, tn
epi <- list()
for (tab in tables) {
  dat <- as.table(matrix(tab, nrow = 2, byrow = TRUE))
  for (m in c("exact", "wilson", "jeffreys")) {
    r <- epi.tests(dat, method = m, conf.level = 0.95)$detail
    g <- function(s) as.numeric(r[r$statistic == s, c("est", "lower", "upper")])
    epi[[length(epi) + 1]] <- list(tp = tab[1], fp = tab[2], fn = tab[3], tn = tab[4], method = m,
                                   se = g("se"), sp = g("sp"), ppv = g("pv.pos"), npv = g("pv.neg"),
                                   acc = g("diag.ac"), lr_pos = g("lr.pos"), lr_neg = g("lr.neg"),
                                   dor = g("diag.or"))
  }
}

# ---- binom.test / prop.test -----------------------------------------------------------
props <- list()
for (kn in list(c(0, 1), c(1, 1), c(0, 10), c(10, 10), c(1, 29), c(15, 148), c(81, 263), c(37, 40), c(3, 7))) {
  k <- kn[1]; n <- kn[2]
  for (cl in c(0.95, 0.8)) {
    cp <- as.numeric(binom.test(k, n, conf.level = cl)$conf.int)
    w <- as.numeric(suppressWarnings(prop.test(k, n, conf.level = cl, correct = FALSE))$conf.int)
    # prop.test's continuity correction equals Newcombe's method 4 when |k - n p0| >= 0.5:
    p0 <- if (k / n >= 0.5) 0.001 else 0.999
    wcc <- as.numeric(suppressWarnings(prop.test(k, n, p = p0, conf.level = cl, correct = TRUE))$conf.int)
    props[[length(props) + 1]] <- list(k = k, n = n, confidence_level = cl, clopper_pearson = cp,
                                       wilson = w, wilson_cc = wcc)
  }
}
goals <- list()
for (kg in list(c(45, 50, 0.8), c(90, 100, 0.85), c(3, 10, 0.5), c(20, 20, 0.9), c(0, 12, 0.1))) {
  goals[[length(goals) + 1]] <- list(k = kg[1], n = kg[2], goal = kg[3],
    p_greater = binom.test(kg[1], kg[2], p = kg[3], alternative = "greater")$p.value,
    p_less = binom.test(kg[1], kg[2], p = kg[3], alternative = "less")$p.value)
}

# ---- McNemar --------------------------------------------------------------------------
mcn <- list()
for (tab in list(c(40, 5, 9, 46), c(10, 12, 3, 20), c(59, 6, 16, 80), c(1, 1, 7, 12), c(30, 0, 4, 10))) {
  m <- matrix(tab, 2, byrow = TRUE)
  b <- tab[2]; c <- tab[3]
  mcn[[length(mcn) + 1]] <- list(table = tab,
    chi2_cc = unname(mcnemar.test(m, correct = TRUE)$statistic), p_cc = mcnemar.test(m, correct = TRUE)$p.value,
    chi2 = unname(mcnemar.test(m, correct = FALSE)$statistic), p = mcnemar.test(m, correct = FALSE)$p.value,
    p_exact = binom.test(b, b + c, 0.5)$p.value,
    p_exact_greater = binom.test(b, b + c, 0.5, alternative = "greater")$p.value,
    p_exact_less = binom.test(b, b + c, 0.5, alternative = "less")$p.value)
}

# ---- p.adjust ---------------------------------------------------------------------------
set.seed(7)
pv <- c(runif(12)^3, 0.01, 0.01, 0.5, 1, 0)
padj <- list(p = pv, holm = p.adjust(pv, "holm"), bonferroni = p.adjust(pv, "bonferroni"), BH = p.adjust(pv, "BH"))

ref <- list(
  provenance = list(R = R.version.string, pROC = as.character(packageVersion("pROC")),
                    epiR = as.character(packageVersion("epiR")),
                    script = "tests/reference/stats/make_reference_stats.R"),
  roc = roc_cases, unpaired = unpaired, epi_tests = epi, proportions = props, goals = goals,
  mcnemar = mcn, p_adjust = padj)
# jsonlite prints at most 15 significant digits; write doubles with 17 (exact round trip).
exact <- function(x) {
  if (is.list(x)) return(lapply(x, exact))
  if (is.double(x)) {
    txt <- ifelse(is.na(x), "null", sprintf("%.17g", x))
    return(structure(if (length(x) == 1) txt else paste0("[", paste(txt, collapse = ","), "]"), class = "json"))
  }
  x
}
writeLines(toJSON(exact(ref), auto_unbox = TRUE, json_verbatim = TRUE, pretty = FALSE),
           file.path(out_dir, "r_reference_stats.json"))
cat("wrote", file.path(out_dir, "r_reference_stats.json"), "\n")
