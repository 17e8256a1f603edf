"""The only place that builds DataFrames: declared schemas per frame."""

from analyzer.frames.schema import TLS_VERSION_DTYPE, Column, Kind, Schema, build_frame

__all__ = ["TLS_VERSION_DTYPE", "Column", "Kind", "Schema", "build_frame"]
