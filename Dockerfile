# Airflow image with the libraries our code imports, at the versions pinned in requirements.txt.
FROM apache/airflow:3.3.2-python3.11
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir "apache-airflow==3.3.2" \
    $(grep -E '^(pandas|numpy|gspread|google-auth|psycopg2-binary|ffmpeg-python|paypalrestsdk|imageio-ffmpeg|argon2-cffi|zxcvbn|dropbox|cryptography|email-validator|itsdangerous|python-dateutil|s3fs|aiobotocore|botocore|apache-airflow-providers-(postgres|standard|smtp|celery))==' /tmp/requirements.txt)
