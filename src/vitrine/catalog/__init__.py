"""The Shopping Manager's catalog.

- `products`: create, update, archive products and their variants; stock; the queries.
- `images`: product photos (type sniffed, size-limited, EXIF removed, thumbnails).
- `csv_import`: CSV import as a background job with progress, and CSV export.
- `csv_format`, `csv_plan`: reading and checking the file; what it changes and the bulk writes.
- `rules`: what each value may be, shared by forms, API and CSV. `drafts`: the input shapes.
- `views`: the read-only shapes handed out. `access`: who may touch a product.
- `queries`: shoppers' views of a brand's shop and a show's lineup.
"""
