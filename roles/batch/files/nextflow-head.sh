# The Nextflow head, as the job definition <prefix>nextflow-head runs it inside
# the production VPC (roles/batch/README.md, docs/runbook.md):
#
#   bash -c "$(cat nextflow-head.sh)" nextflow-head WORKFLOW PARAMS RUN
#
#   WORKFLOW  s3:// URI of the pipeline's directory, staged under reference/workflows/
#   PARAMS    s3:// URI of the run's parameters file (.yaml, .yml or .json)
#   RUN       the run's name: letters, digits, - and _
#
# The job definition carries the toolkit's Nextflow configuration in
# TOOLKIT_NEXTFLOW_CONFIG; the run's log is saved as TOOLKIT_LOG_PREFIX<RUN>.log.
set -euo pipefail

workflow=${1:-}
params=${2:-}
run=${3:-}
usage="submit it with --parameters workflow=s3://BUCKET/reference/workflows/NAME/,params=s3://BUCKET/raw-data/RUN/params.yaml,run=RUN"

for value in "$workflow" "$params"; do
  if [[ $value != s3://* ]]; then
    echo "nextflow-head: '$value' is not an s3:// URI; $usage" >&2
    exit 2
  fi
done
if [[ ! $params =~ \.(yaml|yml|json)$ ]]; then
  echo "nextflow-head: the parameters file $params must end in .yaml, .yml or .json; $usage" >&2
  exit 2
fi
if [[ ! $run =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$ ]]; then
  echo "nextflow-head: the run name '$run' must be letters, digits, - and _; $usage" >&2
  exit 2
fi
: "${TOOLKIT_NEXTFLOW_CONFIG:?nextflow-head: the job definition carries no configuration}"
: "${TOOLKIT_LOG_PREFIX:?nextflow-head: the job definition names no log prefix}"

# A directory of the job's own on the instance's scratch space.
home=/tmp/nextflow-head-${AWS_BATCH_JOB_ID:-$run}
mkdir -p "$home"
cd "$home"
printf '%s\n' "$TOOLKIT_NEXTFLOW_CONFIG" >toolkit.config
params_file=params.${params##*.}
nextflow -c toolkit.config fs cp "$workflow" workflow
nextflow -c toolkit.config fs cp "$params" "$params_file"

status=0
nextflow -log nextflow.log -c toolkit.config run ./workflow -params-file "$params_file" -name "$run" -ansi-log false || status=$?
nextflow -c toolkit.config fs cp nextflow.log "$TOOLKIT_LOG_PREFIX$run.log" || echo "nextflow-head: the log could not be saved" >&2
exit "$status"
