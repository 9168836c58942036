# One image for every service role; the compose command picks service and role:
#   python -m <intake|routing|supervision|reporting> <migrate|api|relay|consumer>
# The demo tokens of embedded mode are not in the image (.dockerignore).
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt ./
COPY services ./services
RUN pip install --no-cache-dir -r requirements.txt \
 && useradd --system --uid 10001 xinfang
COPY deploy/seed ./deploy/seed
USER xinfang
CMD ["python", "-m", "intake", "api"]
