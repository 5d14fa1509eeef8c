"""Build hook: the C core is compiled by cffi; all metadata is in pyproject.toml."""
from setuptools import setup

setup(cffi_modules=["csrc/build_ffi.py:ffibuilder"])
