"""The error a sampler raises instead of returning NaN."""


class DivergenceError(FloatingPointError):
    """A sampler's chains reached NaN or inf.

    Samplers check every chain at every step and stop at the first non-finite
    value, so a bad step size or schedule is reported, never returned as NaN.

    Args:
        message: str, what diverged and what to change.
        step: int, the step at which the first non-finite value appeared.
        chains: list of int, the indices of the chains that diverged.
    """

    def __init__(self, message, step=None, chains=None):
        super().__init__(message)
        self.step = step
        self.chains = list(chains or [])
