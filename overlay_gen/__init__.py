"""overlay-gen: compile-time instrumentation of Go programs through ``go build -overlay``.

The pipeline, one module per stage: :mod:`.resolve` (package graph),
:mod:`.aspect` (load aspects; join points in :mod:`.join`, advice in
:mod:`.advice`), :mod:`.select` (may-match filter), :mod:`.parse`,
:mod:`.match`, :mod:`.advise` (edits, applied by :mod:`.edits`),
:mod:`.verify` (gofmt) and :mod:`.emit` (shadow files and overlay.json), tied
together by :mod:`.pipeline` and driven by :mod:`.cli`.
"""

__version__ = "0.1.0"
