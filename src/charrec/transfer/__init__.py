"""Transfer learning: from a trained model (a run folder or a shipped one) to new data.

    from charrec.transfer import transfer_config, run_transfer
    config = transfer_config("letters", "binary-alphadigits-letters", "finetune",
                             {"run.out": "runs/bad-finetune"})
    run_transfer(config)

Modules, one job each: source (finding and loading the source checkpoint), model (new
head, frozen blocks, added layers, layer-wise learning rates), run (one transfer run
into a run folder, zero-shot included), compare (every strategy on the same repeated
stratified folds), stats (paired differences with confidence intervals), report.
"""

from charrec.transfer.run import run_transfer, transfer_config

__all__ = ["run_transfer", "transfer_config"]
