"""The payload codec: AES-GCM encryption of everything Lotse hands to Temporal (`aesgcm`), its
key ring (`keys`), and the HTTP codec server through which the Temporal UI shows the payloads
decrypted (`server`). `bootstrap.build_data_converter` puts the codec into every client."""
