"""``bankgate demo``: the whole product on embedded defaults (``full``), or only the processing
pipeline on local folders (``local``, ``--pipeline-only``)."""
