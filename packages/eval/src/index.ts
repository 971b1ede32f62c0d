export type {
  BenchmarkDefinition,
  BenchmarkScore,
  EvalItem,
  ImageRef,
  LoadOptions,
  LoadedBenchmark,
  Prediction,
  ScoreContext,
  ScoreResult,
  SubmissionFile,
} from './benchmark.js';
export { BENCHMARKS, getBenchmark } from './benchmarks/registry.js';
export { chairBenchmark } from './benchmarks/chair.js';
export type { ChairReference } from './benchmarks/chair.js';
export { readLlavaQuestions, OPTION_LETTER_SUFFIX, SHORT_ANSWER_SUFFIX } from './benchmarks/common.js';
export type { LlavaQuestion } from './benchmarks/common.js';
export { llavaBenchBenchmark, mmhalBenchmark, mmvetBenchmark } from './benchmarks/judged.js';
export type { LlavaBenchReference, MmhalReference, MmvetReference } from './benchmarks/judged.js';
export { llavaCustomBenchmark } from './benchmarks/llava-custom.js';
export { mmeBenchmark, mmeEvalToolLines } from './benchmarks/mme.js';
export type { MmeReference } from './benchmarks/mme.js';
export { cvBenchBenchmark, gqaBenchmark, mmbenchBenchmark, mmvpBenchmark, scienceQaBenchmark, seedBenchmark } from './benchmarks/multiple-choice.js';
export type { CvBenchReference, GqaReference, MmbenchReference, MmvpReference, ScienceQaReference, SeedReference } from './benchmarks/multiple-choice.js';
export { POPE_CATEGORIES, popeBenchmark } from './benchmarks/pope.js';
export type { PopeReference } from './benchmarks/pope.js';
export { textVqaQuestionFromPrompt, textvqaBenchmark, vizwizBenchmark, vqav2Benchmark } from './benchmarks/vqa.js';
export type { VqaReference } from './benchmarks/vqa.js';
export { DataIssues } from './data-issues.js';
export type { DataIssue, DataIssuePolicy } from './data-issues.js';
export { parseDelimited } from './delimited.js';
export type { DelimitedRow } from './delimited.js';
export { EvalConfigError, EvalDataError, JudgeError, ShardMergeError } from './errors.js';
export { createJudge } from './judge/judge-client.js';
export type { Judge, JudgeOptions, JudgeReply } from './judge/judge-client.js';
export {
  JUDGE_PROMPTS,
  llavaBenchJudgeRequest,
  mmbenchChoiceJudgeRequest,
  mmhalJudgeRequest,
  mmvetJudgeRequest,
  mmvpJudgeRequest,
} from './judge/judge-prompts.js';
export type { ChatMessage, JudgeRequest } from './judge/judge-prompts.js';
export { readJson, readJsonl } from './jsonl.js';
export type { JsonlRecord } from './jsonl.js';
export { captionObjects, chairGroundTruth, chairScores, chairVocabulary } from './metrics/chair.js';
export type { ChairScores, ChairVocabulary } from './metrics/chair.js';
export { cvBenchScores, parseCvBenchAnswer } from './metrics/cv-bench.js';
export type { CvBenchScores } from './metrics/cv-bench.js';
export { singularize } from './metrics/english-singularize.js';
export { gqaAccuracy, gqaPrediction } from './metrics/gqa.js';
export {
  llavaBenchSummary,
  mmhalSummary,
  mmvetScores,
  parseLlavaBenchScores,
  parseMmhalRating,
  parseMmvetGrade,
} from './metrics/judged.js';
export { canInfer, canInferOption, canInferText, evaluateCircularGroup, rotateChoices } from './metrics/mmbench.js';
export type { CircularPass, CircularResult } from './metrics/mmbench.js';
export { MME_SUBTASKS, mmeScores, parseMmeAnswer } from './metrics/mme.js';
export type { MmeEntry, MmeScores, MmeSubtaskScore } from './metrics/mme.js';
export { mmvpRuleCorrect, mmvpScores, parseMmvpGrade, parseMmvpOptions } from './metrics/mmvp.js';
export { parsePopeAnswer, popeMetrics } from './metrics/pope.js';
export type { PopeMetrics } from './metrics/pope.js';
export { parseScienceQaAnswer, scienceQaScores } from './metrics/science-qa.js';
export { seedBenchScores } from './metrics/seed-bench.js';
export { textVqaAccuracy, textVqaAnswerScores, textVqaScore, vqaEvalAccuracy, vqaEvalScore } from './metrics/vqa-accuracy.js';
export type { VqaEvalSummary } from './metrics/vqa-accuracy.js';
export { evalAiNormalizeAnswer, vqaProcessDigitArticle, vqaProcessPunctuation } from './metrics/vqa-normalize.js';
export { splitSentences, treebankWordTokenize, wordTokenize } from './metrics/word-tokenize.js';
export { renderBarChartSvg } from './report/chart-svg.js';
export type { ChartGroup } from './report/chart-svg.js';
export { PAPER_LLAVA15_7B } from './report/paper-reference.js';
export { buildSummary, renderCompareMarkdown, renderSummaryMarkdown, writeReports } from './report/report.js';
export type { ReportFiles, RunSummary } from './report/report.js';
export { PredictionStore, readPredictions } from './runner/predictions-store.js';
export type { FsyncPolicy } from './runner/predictions-store.js';
export { ProgressTracker, createProgressPrinter, formatDuration, renderProgressBar } from './runner/progress.js';
export type { ProgressEvent } from './runner/progress.js';
export { predictionsFile } from './runner/run-files.js';
export { mergeShards, runEvaluation, scoreRun } from './runner/run-evaluation.js';
export type {
  AnswerFunction,
  AnswerResult,
  EvalRow,
  MergeShardsOptions,
  RunEvaluationOptions,
  RunEvaluationResult,
  ScoreRunOptions,
} from './runner/run-evaluation.js';
export { parseShard, shardItems } from './runner/shard.js';
export type { ShardSpec } from './runner/shard.js';
