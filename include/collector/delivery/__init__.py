"""Delivery: collectors' own videos to their Dropbox. Links and their tokens (`links`, `vault`), uploads (`uploads`). DAG: dropbox_delivery."""
