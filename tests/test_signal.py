"""Audio front ends: RFFT2D (from tf.signal.stft and tf.signal.rfft2d, with cropping and
zero padding), COMPLEX_ABS, REAL, IMAG, in a keyword-spotting style model."""
import pytest

from support import TESTS, check_against_tflite

CONTRACT = TESTS / "models" / "contract"


@pytest.mark.parametrize("name", ["audio_stft", "rfft2d"])
def test_signal_model(name, tmp_path):
    check_against_tflite(CONTRACT / f"{name}.tflite", tmp_path)
