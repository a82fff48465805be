// Owns the small operator interface every network in refsr is written against (DESIGN.md section 3: one definition
// of each network). Interpreters: the ONNX graph builder (inference on ONNX Runtime) and, for training, an eager
// tfjs interpreter. A network never touches a backend directly.

export interface ConvOptions {
  /** Zero padding on every side. */
  readonly pad: number;
  readonly stride?: number;
}

export interface Ops<T> {
  /** Static shape of a value (NCHW for images and feature maps). */
  shape(x: T): readonly number[];
  /** A named learned parameter; `name` is the official PyTorch state_dict key, `shape` its expected shape. */
  param(name: string, shape: readonly number[]): T;
  /** A fixed tensor (normalisation constants, ...). */
  constant(name: string, shape: readonly number[], data: Float32Array): T;

  conv2d(x: T, weight: T, bias: T | undefined, opts: ConvOptions): T;
  /**
   * Modulated deformable convolution (DCNv2, torchvision `deform_conv2d` with mask), kernel 3, stride 1, pad 1.
   * `offset` [N, 2*G*9, H, W]: channel 2k is dy and 2k+1 is dx of slot k = g*9 + i*3 + j; `mask` [N, G*9, H, W].
   * The output grid is the offset's grid; `x` may have any spatial size (samples are taken in x's coordinates,
   * zero outside), which is what lets a reference of any size be aggregated onto the input's grid.
   */
  deformConv(x: T, offset: T, mask: T, weight: T, bias: T | undefined, groups: number): T;

  relu(x: T): T;
  leakyRelu(x: T, slope: number): T;
  sigmoid(x: T): T;
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  div(a: T, b: T): T;
  concat(xs: readonly T[], axis: number): T;
  /** Channels [start, end) of an NCHW value. */
  sliceChannels(x: T, start: number, end: number): T;
  /** torch PixelShuffle(r): [N, C*r*r, H, W] -> [N, C, H*r, W*r]. */
  pixelShuffle(x: T, r: number): T;
  /** MaxPool2d(2, 2). */
  maxPool2x2(x: T): T;
  /** F.interpolate(x, scale_factor=s, mode='bilinear', align_corners=False). */
  upsampleBilinear(x: T, scale: number): T;

  // Added for the Ref-VSR network (SPyNet optical flow and feature propagation, src/models/spynet-arch.ts and
  // refvsr-arch.ts). Pooling, resizing and sampling carry no weights and are not counted as FLOPs.
  /** AvgPool2d(2, 2) (no padding, so count_include_pad does not matter); odd sizes floor. */
  avgPool2x2(x: T): T;
  /** F.interpolate(x, size=(h, w), mode='bilinear', align_corners=alignCorners): any output size. */
  resizeBilinear(x: T, h: number, w: number, alignCorners: boolean): T;
  /**
   * mmedit `flow_warp`: x [N, C, H, W] sampled bilinearly at (x + flow[:, 0], y + flow[:, 1]) with flow [N, 2, H, W]
   * in pixels (channel 0 = x), i.e. F.grid_sample(align_corners=True) on the grid normalised by max(W-1, 1) and
   * max(H-1, 1). `padding`: 'zeros' (corners outside count 0) or 'border' (positions clamped to the map).
   */
  flowWarp(x: T, flow: T, padding: 'zeros' | 'border'): T;
  /** Softmax over the channel axis of an NCHW value, independently at every (n, y, x). */
  softmaxChannels(x: T): T;
  /** F.pad(x, [0, right, 0, bottom], mode='reflect'): mirror without repeating the edge; right < W and bottom < H. */
  padReflectBottomRight(x: T, bottom: number, right: number): T;
  /** x[:, :, :h, :w] of an NCHW value. */
  cropTopLeft(x: T, h: number, w: number): T;
}
