// Owns the defaults of the video path (temporal windows, reconstruction tiles) and the Vid4 protocol names: plain
// values, so the CLI can show them in its help without loading the networks or the image libraries.

/** Frames run through the recurrent network together. */
export const DEFAULT_VIDEO_WINDOW = 15;
/** Frames shared by consecutive windows. */
export const DEFAULT_VIDEO_WINDOW_OVERLAP = 4;
/** Side (LR px) of the x4 reconstruction windows. */
export const DEFAULT_VIDEO_TILE = 96;

export type VideoProtocol = 'as-released' | 'honest';
export const VIDEO_PROTOCOLS: readonly VideoProtocol[] = ['as-released', 'honest'];
