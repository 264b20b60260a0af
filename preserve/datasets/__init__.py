"""Real images from pinned package sources: style paintings and the content training set.

``preserve data styles`` rebuilds the shipped style images, ``preserve data build`` the training and
evaluation photo sets (see :mod:`preserve.datasets.build`).
"""
