"""Clips packed into WebDataset-style tar shards for corpus-scale training: the format and its index (`reader`),
packing a manifest's clips (`writer`, `social-mae shard`), features computed when packing (`precomputed`), and the
training reader with an exact mid-epoch resume (`dataset`)."""
