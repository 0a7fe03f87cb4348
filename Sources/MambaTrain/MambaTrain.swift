// MambaTrain: explicit backward passes over the MambaModel layers, losses, the AdamW optimiser,
// gradient clipping, learning-rate schedules and the seeded RNG used for init, masking and shuffling.
import MambaModel
