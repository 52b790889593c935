"""Studies: one factor at a time with cross-validation, and tuning with Optuna.

    charrec study run --data letters-dev --factors activation,optimizer --folds 3 --out s/
    charrec study tune --data mnist --space space.yaml --trials 40 --out t/

Modules, one job each: factors (the techniques by name and their options), spec (a study
as YAML), stats (fold scores and paired differences), ofat (the plan: what to train next
and what was chosen), storage (Optuna's storage, heartbeats), runner (one unit into its
run folder), worker (the loop every worker runs), jobs (worker processes on one machine),
tune (Optuna search), report (results.csv, figures, Markdown and HTML).
"""
