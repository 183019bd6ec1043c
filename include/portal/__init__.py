"""The collectors' web portal (FAQ 5, 8, 13, 14): log in, see your dashboard, enter your payment
details. Its own service over the warehouse; imports ``collector``, never Airflow."""
