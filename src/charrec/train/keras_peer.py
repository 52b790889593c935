"""The Keras peer of `charrec bench train`: the Keras "Simple MNIST convnet", as its authors
wrote it, in Keras 3 on TensorFlow.

It runs as a script in a Python environment of its own that has Keras and TensorFlow
(`python keras_peer.py DATA.npz --epochs 15`); it imports neither charrec nor torch, and
charrec never depends on TensorFlow. DATA.npz holds x_train, y_train, x_test, y_test as
uint8 MNIST arrays. Prints one JSON line: the seconds of each epoch (training and the
validation pass, as Keras reports them), and the final validation and test accuracy.
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", help=".npz with x_train, y_train, x_test, y_test (uint8)")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--precision",
        choices=["float32", "mixed_bfloat16"],
        default="float32",
        help="Keras dtype policy (mixed_bfloat16: bf16 compute, float32 weights)",
    )
    args = parser.parse_args()

    import keras
    import numpy as np
    from keras import layers

    keras.utils.set_random_seed(args.seed)
    keras.mixed_precision.set_global_policy(args.precision)
    data = np.load(args.data)
    num_classes = int(data["y_train"].max()) + 1
    x_train = np.expand_dims(data["x_train"].astype("float32") / 255, -1)
    x_test = np.expand_dims(data["x_test"].astype("float32") / 255, -1)
    y_train = keras.utils.to_categorical(data["y_train"], num_classes)
    y_test = keras.utils.to_categorical(data["y_test"], num_classes)
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dropout(0.5),
            # float32 output under mixed precision, as Keras' guide advises.
            layers.Dense(num_classes, activation="softmax", dtype="float32"),
        ]
    )

    class EpochTimes(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    times: list[float] = []
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(
        x_train,
        y_train,
        batch_size=args.batch,
        epochs=args.epochs,
        validation_split=0.1,
        callbacks=[EpochTimes()],
        verbose=0,
    )
    _, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(
        json.dumps(
            {
                "epoch_seconds": times,
                "val_accuracy": float(history.history["val_accuracy"][-1]),
                "test_accuracy": float(test_accuracy),
                "parameters": int(model.count_params()),
                "keras": keras.__version__,
                "backend": keras.backend.backend(),
                "precision": args.precision,
            }
        )
    )


if __name__ == "__main__":
    main()
