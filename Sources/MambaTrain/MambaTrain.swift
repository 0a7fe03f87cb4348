import MambaModel
