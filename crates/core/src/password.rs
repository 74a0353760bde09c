//! Password hashing: Argon2id for new hashes; imported bcrypt hashes verify too (later).
