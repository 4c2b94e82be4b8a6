"""The Observatory exchange: countries submit monthly flow and displacement counts.

```
formats.py     the submission tables (crossings, displacement): fields, CSV template,
               Frictionless Table Schema, field texts in en/es/pt
validate.py    the whole file checked first (types, codes, months, ranges, duplicates,
               totals, points inside the country, the configured rules) -> rows or refusal
rules.py       validation rules and reporting deadlines kept as data (exchange.yaml)
store.py       accepted submissions as versions of `exchange:<ISO3>` in the version store;
               supersession, withdrawal, currency; the crossings fed to the pipeline and the
               per-country feature collection
```

Everything a submission stores goes through the ingest package: its versions are
`data_catalog.ingest.versions` records (files or PostgreSQL), its files are installed with
`data_catalog.ingest.install`, the pipeline's crossings table is a new version of
`flow_counts`, and its collection a user layer (`ingest_vector`).
"""
