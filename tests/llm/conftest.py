# The real-model tier drives Neovim exactly as the end-to-end tests do.
from ..e2e.conftest import home, nvim, start_nvim  # noqa: F401
