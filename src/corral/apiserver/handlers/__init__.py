"""The verb handlers: one module per verb, each a function of a `Verb`.

``get``, ``list``, ``watch``, ``writes`` (create, update, delete,
deletecollection), ``patch`` and the ``scale`` subresource; ``io`` (bodies,
media types, negotiation), ``selection`` (selectors), ``readmode`` (where a
read is served from) and ``lists`` (List bodies) are shared by them.
`corral.apiserver.api` routes each request to its handler.
"""
