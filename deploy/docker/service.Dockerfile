# One image for every service process; the compose command picks the process.
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt ./
COPY services ./services
RUN pip install --no-cache-dir -r requirements.txt \
 && useradd --system --uid 10001 xinfang
COPY deploy/seed ./deploy/seed
USER xinfang
CMD ["python", "-m", "intake.api"]
