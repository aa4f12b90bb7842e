"""Column names of the outcomes table and the loaded query tables, in one place."""

ROW_ID = "row_id"
TIER = "tier"
RESPONSE = "response"
SCORE = "score"
COST_USD = "cost_usd"
LATENCY_MS = "latency_ms"
PROMPT_TOKENS = "prompt_tokens"
COMPLETION_TOKENS = "completion_tokens"
ERROR = "error"
CACHED = "cached"
INPUT = "input"
INTENT = "intent"
LABEL = "label"
SPLIT = "split"
METADATA = "metadata"  # the query's metadata as a JSON object (text), for static rules on metadata
REFERENCE = "reference"
SOURCE = "source"  # "eval" for labeled eval rows, "log" for production log rows
SCORER = "scorer"  # name and arguments of the scorer that produced `score`
LOGPROB_MEAN = "logprob_mean"  # mean token log-probability of the response, when the provider gave it
USAGE_ESTIMATED = "usage_estimated"  # the provider gave no token counts: tokens and cost estimated from text
UNSCORED = "unscored"  # why a row has no score (the call failed, the judge was not called, ...); null when scored

OUTCOME_COLUMNS = (
    ROW_ID,
    TIER,
    RESPONSE,
    SCORE,
    COST_USD,
    LATENCY_MS,
    PROMPT_TOKENS,
    COMPLETION_TOKENS,
    ERROR,
    CACHED,
    INPUT,
    INTENT,
    LABEL,
    SPLIT,
    SOURCE,
    SCORER,
    LOGPROB_MEAN,
)

SOURCE_EVAL = "eval"
SOURCE_LOG = "log"
SOURCE_ROUTER = "router"  # the llm router's triage call for an eval row (answer, cost, latency; no score)
