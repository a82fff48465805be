// Owns the evaluation surface (`refsr/eval`): the paper's test protocols on paired datasets (PSNR/SSIM on Y with the
// bicubic baseline), the Vid4 protocols of Ref-VSR, their JSON/CSV/HTML reports, and the scale/rotation robustness study of the matcher.
export { evaluate, summarize, writeReport, reportCsv, selfReference, type EvalReport, type EvalSummary, type ImageResult, type MeanResult, type EvalOptions, type EvalMeta } from './eval/evaluate.ts';
export { listPairs, listImageSet, parsePairsFile, PROTOCOLS, DatasetError, type Protocol, type EvalPair } from './eval/datasets.ts';
export { renderEvalHtml, writeEvalHtml } from './report/eval-html.ts';
export { runRobustness, type RobustnessReport, type RobustnessOptions } from './robustness/study.ts';
export { measure, type Metrics } from './metrics/index.ts';
export { runProtocol, prepareProtocol } from './pipeline/protocol.ts';
export { evaluateVid4, type VideoEvalReport } from './eval/vid4.ts';
export * from './errors/index.ts';
