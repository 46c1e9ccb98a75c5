#include "pipeline/steps/feature_store_ingest_step.h"
