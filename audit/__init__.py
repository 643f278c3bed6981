"""Looking at a dataset without changing it: ``check`` finds files that disagree with
dataset.json or with each other, ``stats`` counts what the dataset holds."""
