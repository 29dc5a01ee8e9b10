# Reference values for validation.stats._agreement, computed with R packages.
# Run from this directory:  Rscript agreement_reference.R  (writes agreement_reference.json)
# Tools: R 4.2.2, vcd 1.4.11, psych 2.2.9, jsonlite (see "versions" in the output).
suppressMessages({library(vcd); library(psych); library(jsonlite)})
out <- list(versions = list(R = R.version.string, vcd = as.character(packageVersion("vcd")),
                            psych = as.character(packageVersion("psych"))))
tab5 <- function(d, lev) table(factor(d$a, levels = lev), factor(d$b, levels = lev))

# 1. ordinal 1..5: vcd::Kappa (unweighted, Equal-Spacing, Fleiss-Cohen) and its ASE
d <- read.csv("kappa_ordinal.csv")
t1 <- tab5(d, 1:5)
k_lin <- Kappa(t1, weights = "Equal-Spacing")
k_quad <- Kappa(t1, weights = "Fleiss-Cohen")
ci_lin <- confint(k_lin, level = 0.95)
out$ordinal <- list(
  unweighted = unname(k_lin$Unweighted), linear = unname(k_lin$Weighted), quadratic = unname(k_quad$Weighted),
  ci_unweighted = unname(ci_lin[1, ]), ci_linear = unname(ci_lin[2, ]),
  ci_quadratic_90 = unname(confint(k_quad, level = 0.90)[2, ]))
# psych::cohen.kappa (default weights: quadratic on index), its variances and CI
ck <- cohen.kappa(d[, c("a", "b")], alpha = 0.05)
out$psych_ordinal <- list(kappa = ck$kappa, weighted_kappa = ck$weighted.kappa,
  var_kappa = ck$var.kappa, var_weighted = ck$var.weighted, confid = unname(as.vector(t(ck$confid))))

# 2. unequally spaced values {0,1,2,4,8}: weights by VALUE, passed to vcd as a matrix
u <- read.csv("kappa_unequal.csv")
vals <- c(0, 1, 2, 4, 8)
t2 <- tab5(u, vals)
Wl <- 1 - abs(outer(vals, vals, "-")) / 8
Wq <- 1 - (outer(vals, vals, "-") / 8)^2
out$unequal <- list(linear = unname(Kappa(t2, weights = Wl)$Weighted), quadratic = unname(Kappa(t2, weights = Wq)$Weighted))

# 3. ICC (psych::ICC, ANOVA not lmer)
x <- read.csv("icc.csv")
ic <- ICC(x, lmer = FALSE, alpha = 0.05)$results
ic90 <- ICC(x, lmer = FALSE, alpha = 0.10)$results
out$icc <- list(
  icc2 = unname(unlist(ic["Single_random_raters", c("ICC", "lower bound", "upper bound")])),
  icc3 = unname(unlist(ic["Single_fixed_raters", c("ICC", "lower bound", "upper bound")])),
  icc2_90 = unname(unlist(ic90["Single_random_raters", c("ICC", "lower bound", "upper bound")])),
  icc3_90 = unname(unlist(ic90["Single_fixed_raters", c("ICC", "lower bound", "upper bound")])))

# 4. Bland-Altman exact limits: noncentral t quantiles (stats::qt with ncp), differences r1 - r2
dd <- x$r1 - x$r2; n <- length(dd); m <- mean(dd); s <- sd(dd); z <- qnorm(0.975)
out$bland_altman <- list(mean = m, sd = s,
  upper_ci = m + s * qt(c(0.025, 0.975), n - 1, ncp = z * sqrt(n)) / sqrt(n),
  lower_ci = m - s * rev(qt(c(0.025, 0.975), n - 1, ncp = z * sqrt(n))) / sqrt(n),
  bias_ci = unname(t.test(x$r1, x$r2, paired = TRUE)$conf.int[1:2]))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "agreement_reference.json")
