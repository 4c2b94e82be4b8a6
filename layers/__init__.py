"""What a layer is and how it looks: the models, the registry, styles and legends."""

from layers.lean_imports import import_rio_tiler

import_rio_tiler()
