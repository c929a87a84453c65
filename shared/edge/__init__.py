"""The HTTP edge, once: the route table, label decoding, body validation and the error
shape, all driven by the botocore ``evidently`` 2021-02-01 model (``model/``)."""
