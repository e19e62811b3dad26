"""A small DCGAN for 28x28 grey images (MNIST) as one Keras ``Model`` that the training core fits.

=============  ==========================================================================================
part           layers (defaults)
=============  ==========================================================================================
generator      noise (latent_dim=64) -> Dense 7*7*64 + BN + LeakyReLU -> ConvT 64@4x4/2 + BN + LeakyReLU
               -> ConvT 1@4x4/2 sigmoid: a (28, 28, 1) image in [0, 1], the loaders' scaling
discriminator  Conv 32@4x4/2 LeakyReLU -> Conv 64@4x4/2 LeakyReLU -> Flatten -> Dropout 0.3 -> Dense 1
               (a logit: real vs generated)
=============  ==========================================================================================

:class:`GAN` owns both, with its own ``train_step`` (one discriminator and one generator update per batch of
real images, non-saturating losses, Adam 2e-4 / beta_1 0.5 for each) and ``test_step``: the "validation data"
is a fixed batch of noise; the generated images are classified by a frozen image classifier (a trained MNIST
CNN), giving ``confident`` (share of samples classified with probability > 0.9) and ``inception_score``
(``exp(mean KL(p(y|x) || p(y)))``: 1 when every sample looks alike or nothing is recognised, 10 when samples
are recognised and spread evenly over the 10 classes). Both land in the history as ``val_confident`` and
``val_inception_score``, and the core monitors the latter. The class is registered with Keras, so the
core's ``.keras`` checkpoints (``last.keras`` for resume, ``model.keras`` best) load back; the generator alone
is a plain functional model.
"""

from __future__ import annotations

from typing import Any

from phosnet._tf import keras

LATENT_DIM = 64
CONFIDENCE = 0.9
"""A generated image counts as ``confident`` when the classifier gives one class more than this."""


def build_generator(latent_dim: int = LATENT_DIM, filters: int = 64) -> Any:
    """Noise ``(latent_dim,)`` -> a ``(28, 28, 1)`` image in ``[0, 1]``."""
    k = keras()
    layers = k.layers
    noise = k.Input(shape=(latent_dim,), name="noise")
    x = layers.Dense(7 * 7 * filters, use_bias=False, name="project")(noise)
    x = layers.BatchNormalization(name="bn0")(x)
    x = layers.LeakyReLU(0.2, name="act0")(x)
    x = layers.Reshape((7, 7, filters), name="reshape")(x)
    x = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False, name="up1")(x)
    x = layers.BatchNormalization(name="bn1")(x)
    x = layers.LeakyReLU(0.2, name="act1")(x)
    image = layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="sigmoid", name="image")(x)
    return k.Model(noise, image, name="generator")


def build_discriminator(filters: int = 32) -> Any:
    """A ``(28, 28, 1)`` image -> one logit (real > 0)."""
    k = keras()
    layers = k.layers
    image = k.Input(shape=(28, 28, 1), name="image")
    x = layers.Conv2D(filters, 4, strides=2, padding="same", name="down1")(image)
    x = layers.LeakyReLU(0.2, name="act1")(x)
    x = layers.Conv2D(2 * filters, 4, strides=2, padding="same", name="down2")(x)
    x = layers.LeakyReLU(0.2, name="act2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.3, name="dropout")(x)
    logit = layers.Dense(1, name="logit")(x)
    return k.Model(image, logit, name="discriminator")


def _gan_class() -> type:
    """Define (once) and return the :class:`GAN` Keras class; Keras is imported only here."""
    global _GAN
    if _GAN is not None:
        return _GAN
    k = keras()
    from phosnet._tf import tensorflow

    tf = tensorflow()

    @k.saving.register_keras_serializable(package="phosnet", name="GAN")
    class GAN(k.Model):  # type: ignore[name-defined,misc]
        """Generator + discriminator trained adversarially; see the module docstring."""

        def __init__(self, generator: Any, discriminator: Any, classifier: Any = None,
                     latent_dim: int = LATENT_DIM, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.generator = generator
            self.discriminator = discriminator
            self.classifier = classifier
            if classifier is not None:
                classifier.trainable = False
            self.latent_dim = int(latent_dim)
            self.bce = k.losses.BinaryCrossentropy(from_logits=True)
            self.d_loss_tracker = k.metrics.Mean(name="d_loss")
            self.g_loss_tracker = k.metrics.Mean(name="g_loss")
            self.confident_tracker = k.metrics.Mean(name="confident")
            self.score_tracker = k.metrics.Mean(name="inception_score")

        def compile(self, d_optimizer: Any = None, g_optimizer: Any = None, **kwargs: Any) -> None:
            """The discriminator's optimizer is the model's ``optimizer`` (saved with checkpoints); the
            generator's is ``g_optimizer``."""
            d_optimizer = d_optimizer or k.optimizers.Adam(2e-4, beta_1=0.5)
            super().compile(optimizer=d_optimizer, **kwargs)
            self.g_optimizer = g_optimizer or k.optimizers.Adam(2e-4, beta_1=0.5)

        def get_compile_config(self) -> dict:
            return {"d_optimizer": k.optimizers.serialize(self.optimizer),
                    "g_optimizer": k.optimizers.serialize(self.g_optimizer)}

        def compile_from_config(self, config: dict) -> None:
            """Recompile on load and build both optimizers, so their saved state (resume) loads into them."""
            self.compile(d_optimizer=k.optimizers.deserialize(config["d_optimizer"]),
                         g_optimizer=k.optimizers.deserialize(config["g_optimizer"]))
            self.optimizer.build(self.discriminator.trainable_variables)
            self.g_optimizer.build(self.generator.trainable_variables)

        @property
        def metrics(self) -> list:
            return [self.d_loss_tracker, self.g_loss_tracker, self.confident_tracker, self.score_tracker]

        def call(self, noise: Any, training: bool = False) -> Any:
            return self.generator(noise, training=training)

        def build(self, input_shape: Any = None) -> None:
            self.generator.build((None, self.latent_dim))
            self.discriminator.build((None, 28, 28, 1))
            super().build((None, self.latent_dim))

        def train_step(self, data: Any) -> dict:
            real = data[0] if isinstance(data, tuple) else data
            n = tf.shape(real)[0]
            noise = tf.random.normal((n, self.latent_dim))
            with tf.GradientTape() as tape:
                fake = self.generator(noise, training=True)
                real_logit = self.discriminator(real, training=True)
                fake_logit = self.discriminator(fake, training=True)
                d_loss = (self.bce(tf.ones_like(real_logit), real_logit)
                          + self.bce(tf.zeros_like(fake_logit), fake_logit)) / 2.0
            grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
            self.optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights, strict=True))
            noise = tf.random.normal((n, self.latent_dim))
            with tf.GradientTape() as tape:
                fake_logit = self.discriminator(self.generator(noise, training=True), training=True)
                g_loss = self.bce(tf.ones_like(fake_logit), fake_logit)  # non-saturating
            grads = tape.gradient(g_loss, self.generator.trainable_weights)
            self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights, strict=True))
            self.d_loss_tracker.update_state(d_loss)
            self.g_loss_tracker.update_state(g_loss)
            return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}

        def test_step(self, data: Any) -> dict:
            noise = data[0] if isinstance(data, tuple) else data
            if self.classifier is None:
                return {}
            probabilities = self.classifier(self.generator(noise, training=False), training=False)
            confident, score = sample_quality_tensors(tf, probabilities)
            self.confident_tracker.update_state(confident)
            self.score_tracker.update_state(score)
            return {"confident": self.confident_tracker.result(),
                    "inception_score": self.score_tracker.result()}

        def get_config(self) -> dict:
            config: dict = {"latent_dim": self.latent_dim, "name": self.name}
            config["generator"] = k.saving.serialize_keras_object(self.generator)
            config["discriminator"] = k.saving.serialize_keras_object(self.discriminator)
            if self.classifier is not None:
                config["classifier"] = k.saving.serialize_keras_object(self.classifier)
            return config

        @classmethod
        def from_config(cls, config: dict) -> Any:
            config = dict(config)
            parts = {key: k.saving.deserialize_keras_object(config.pop(key))
                     for key in ("generator", "discriminator", "classifier") if key in config}
            return cls(**parts, **config)

    _GAN = GAN
    return GAN


_GAN: type | None = None


def sample_quality_tensors(tf: Any, probabilities: Any) -> tuple[Any, Any]:
    """``(confident share, inception score)`` of class probabilities ``(n, classes)`` (TensorFlow ops)."""
    confident = tf.reduce_mean(tf.cast(tf.reduce_max(probabilities, axis=1) > CONFIDENCE, tf.float32))
    p = tf.clip_by_value(tf.cast(probabilities, tf.float32), 1e-12, 1.0)
    marginal = tf.reduce_mean(p, axis=0, keepdims=True)
    kl = tf.reduce_sum(p * (tf.math.log(p) - tf.math.log(marginal)), axis=1)
    return confident, tf.exp(tf.reduce_mean(kl))


def build_gan(latent_dim: int = LATENT_DIM, classifier: Any = None) -> Any:
    """A compiled :class:`GAN` with a fresh generator and discriminator (and the frozen ``classifier``)."""
    gan = _gan_class()(build_generator(latent_dim), build_discriminator(), classifier, latent_dim=latent_dim,
                       name="phosnet_gan")
    gan.compile()
    gan.build()
    return gan


def register() -> None:
    """Make the :class:`GAN` class known to Keras (before loading a GAN checkpoint)."""
    _gan_class()


__all__ = ["CONFIDENCE", "LATENT_DIM", "build_discriminator", "build_gan", "build_generator", "register",
           "sample_quality_tensors"]
