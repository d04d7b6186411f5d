// The finite CNN (GLIP): network, training loop, empirical NTK and alignment, seeded random numbers.
export { FiniteCnn, priorTensor, upsample2, type NetworkOptions, type Parameterization, type NetWeights } from './network.ts';
export { trainNetwork, type TrainData, type TrainOptions, type TrainResult, type LossPoint, type OptimizerKind } from './train.ts';
export { empiricalNtk, pixelGradients, kernelAlignment, targetAlignment, subKernel, receptiveRadius, cropSize, cropStart, type EmpiricalNtk } from './ntk.ts';
export { SeededRandom, hashString } from './random.ts';
export { convFilterGrad, convFilterGradShifted, convFilterGradWindows, hasNativeFilterGrad } from './conv.ts';
