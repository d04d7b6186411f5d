// The one estimator interface. Every method (IDW, kriging, GP, CNTK, EigenPro, GLIP, sketch) implements it,
// so the CLI, the service, cross-validation and the UI treat them alike.
//
// Two phases, so that time series and cross-validation reuse expensive work:
//   prepare(sites, grid, params)  -> everything that depends only on WHERE the observations are
//                                   (variogram model fixed, kernel matrix, factorization, eigenpairs)
//   prepared.predict(values)      -> one map for one vector of values at those sites (cheap)
// The engine (estimators/run.ts) groups time steps by the set of reporting sensors and calls prepare once per
// group; a step where a sensor drops out gets its own prepare on that subset, never a filled value.

import type { Grid, Observations } from '../domain/types.ts';
import type { RunContext } from '../domain/run.ts';

export type ParamType = 'number' | 'integer' | 'boolean' | 'string' | 'enum';

/** One parameter of an estimator, described for the CLI (--param k=v) and the UI (run panel form). */
export interface ParamSpec {
  name: string;
  type: ParamType;
  default: number | boolean | string;
  /** Inclusive range for numbers. */
  min?: number;
  max?: number;
  /** Choices for 'enum'. */
  choices?: string[];
  help: string;
  /** Shown under "advanced" in the UI. */
  advanced?: boolean;
}

export type ParamValues = Record<string, number | boolean | string>;

/** Per-cell prediction on the whole grid. */
export interface Prediction {
  /** Row-major, V/m, length grid.width*grid.height. */
  values: Float32Array;
  /** Predictive variance, (V/m)². */
  variance?: Float32Array;
  /** JSON-serialisable method diagnostics for this map (λ chosen, loss curve, ...). */
  diagnostics?: Record<string, unknown>;
}

export interface HeldOutPrediction {
  /** Prediction at each held-out site, indexed like the sites. */
  mean: Float64Array;
  variance?: Float64Array;
}

export interface PreparedEstimator {
  /** Map for one vector of values (V/m) at the prepared sites (same order as obs.cell). */
  predict(values: Float64Array, ctx: RunContext): Promise<Prediction>;
  /**
   * Optional fast path for cross-validation: for each fold (indices of held-out sites), train on the other
   * sites and predict at the held-out ones. Estimators with closed-form leave-out or reusable kernels
   * implement it; otherwise evaluation re-prepares on each training subset.
   */
  predictHeldOut?(values: Float64Array, folds: Int32Array[], ctx: RunContext): Promise<HeldOutPrediction>;
  /** Diagnostics of the prepare phase (variogram fit, kernel time, backend, ...). */
  diagnostics?: Record<string, unknown>;
  /** Free tensors / large buffers. Safe to call twice. */
  dispose?(): void;
}

export interface Estimator {
  /** Registry key used by the CLI and stored runs, e.g. "idw", "kriging", "cntk". */
  id: string;
  label: string;
  /** One paragraph for --help and the UI. */
  description: string;
  params: ParamSpec[];
  /** Whether maps carry a variance. */
  providesVariance: boolean;
  /**
   * Geometry-dependent work. `obs.values` are those of the first (or only) step; estimators that fit
   * hyper-parameters from the data (variogram, GP marginal likelihood) may use `trainingValues`, one
   * Float64Array per time step of the group, to fit once for all steps.
   */
  prepare(obs: Observations, params: ParamValues, ctx: RunContext, trainingValues?: Float64Array[]): Promise<PreparedEstimator>;
  /** The tfjs backend name when the method uses TensorFlow.js, else "js". Filled after prepare. */
  backend?(): string;
}

/** Static description of an estimator for the UI / CLI (no functions: crosses process boundaries). */
export interface EstimatorInfo {
  id: string;
  label: string;
  description: string;
  params: ParamSpec[];
  providesVariance: boolean;
}

export type { Grid, Observations };
