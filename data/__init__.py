"""What streetsafe reads at run time, installed as the package ``streetsafe.data``.

Boundaries, the gazetteer, the report templates, the shipped role policies and the public
police.uk file of the demo; see README.md here for each file's source and licence. Code reads
them through :func:`streetsafe.resources.data_file`, never by a path relative to the source.
"""
