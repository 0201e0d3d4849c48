/**
 * The API's shapes, named for the UI. All of them are aliases of the types
 * generated from the server's OpenAPI schema (`make types`), so a server change
 * that breaks the UI fails `tsc`.
 */
import type { components } from "./schema";

type Schemas = components["schemas"];

export type JobStatus = Schemas["JobStatus"];
export type OutputStatus = Schemas["OutputStatus"];
export type JobMode = Schemas["JobSummary"]["mode"];

export type ModelInfo = Schemas["ModelOut"];
export type Health = Schemas["HealthOut"];
export type SessionInfo = Schemas["SessionOut"];

export type IngestError = Schemas["FileErrorOut"];
export type IngestAccepted = Schemas["IngestedFileOut"];
export type IngestReport = Schemas["IngestReportOut"];
export type DatasetSummary = Schemas["DatasetSummaryOut"];
export type DatasetOut = Schemas["DatasetOut"];
export type DatasetUsage = Schemas["DatasetUsage"];
export type DatasetItem = Schemas["DatasetItemOut"];
export type UploadFinished = Schemas["UploadFinished"];
export type JobStorage = Schemas["JobStorageOut"];

export type JobOptions = Schemas["JobOptionsIn"];
/** Request bodies with the discriminator made explicit. */
export type AutomaticJobCreate = Schemas["AutomaticJobCreate"] & { mode: "automatic" };
export type SemiAutoJobCreate = Schemas["SemiAutoJobCreate"] & { mode: "semi_auto" };
export type JobCreate = AutomaticJobCreate | SemiAutoJobCreate;

export type Estimate = Schemas["EstimateOut"];
export type TrialEstimate = Schemas["TrialEstimate"];
export type JobTrial = Schemas["TrialOut"];
export type PromptPreview = Schemas["PromptPreview"];
export type StatusCounts = Schemas["StatusCounts"];
export type JobSummary = Schemas["JobSummary"];
export type JobList = Schemas["JobList"];
export type BatchOut = Schemas["BatchOut"];
export type JobDetail = Schemas["JobDetail"];
export type OutputOut = Schemas["OutputOut"];
export type OutputPage = Schemas["OutputPage"];
export type RetryOut = Schemas["RetryOut"];
export type ExportParts = Schemas["ExportPartsOut"];
export type DatasetLabels = Schemas["DatasetLabelsOut"];
export type SplitEstimate = Schemas["SplitEstimate"];
export type OutputFlag = Schemas["OutputFlagOut"];
export type JobQuality = Schemas["QualityOut"];
export type ReviewIn = Schemas["ReviewIn"];
/** A review request as the UI builds it: the decision and whichever selectors it needs. */
export type ReviewRequest = Pick<ReviewIn, "decision"> & Partial<Omit<ReviewIn, "decision">>;
export type ReviewOut = Schemas["ReviewOut"];
export type RegenerateEstimate = Schemas["RegenerateEstimateOut"];
export type Recipe = Schemas["Recipe"];
export type FailureSummary = Schemas["FailureSummary"];
