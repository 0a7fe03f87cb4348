import SeqIO
import MambaModel
