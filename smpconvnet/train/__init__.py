"""Training: timm's own scripts with shipped recipes (``timm_scripts``) and the sequence-model trainer
(``seq_trainer``, which registers its checkpoint format with every model source)."""
from . import seq_trainer  # noqa: F401
