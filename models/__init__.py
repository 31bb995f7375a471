"""The models: everything torch, nothing Qt. Importing this package changes nothing in the process: the import
tricks that make a first model faster are turned on by the programs (``torch_import.install``)."""
