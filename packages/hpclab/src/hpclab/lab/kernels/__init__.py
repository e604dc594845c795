"""Kernels from environment modules: the module tree's index, the kernel specs it yields,
the spec manager of users' servers, and the launcher that loads a kernel's module."""
