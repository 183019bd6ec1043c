"""Notify: collectors' emails and their outbox (`emails`, templates in `templates/email/`), the ops digest (`ops_digest`). DAGs: collector_emails, ops_digest."""
