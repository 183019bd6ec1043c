"""Release: consented dataset releases of accepted activities (`dataset`). DAG: dataset_release."""
