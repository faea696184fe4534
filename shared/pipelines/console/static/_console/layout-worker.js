import{a as t}from"./chunk-2SGJHUD2.js";import{g as e}from"./chunk-XP7UTXCA.js";self.onmessage=o=>{self.postMessage(t(e,o.data))};
