"""cpexplore: explore a Cloudpods cloud as pandas DataFrames."""

__version__ = "0.1.0"
