"""What a run reports about itself: the data funnel (funnel.py), the dataset card, its
datasets-loadable export and the run manifest (card.py), and where a result came from
(provenance.py: git revision, package versions, time)."""
